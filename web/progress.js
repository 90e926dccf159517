/*
 * progress.js - the contract's GenerationProgress component (section 6.1) and its
 * useGenerationStatus hook, in plain JavaScript: no framework, no build step.
 *
 * Wire format: what @trpc/client's default httpBatchLink sends for
 * trpc.generation.getStatus.useQuery({ courseId }):
 *   GET <base>/generation.getStatus?batch=1&input={"0":{"courseId":"..."}}
 *   Authorization: Bearer <token>
 * answered by [{"result":{"data":{...}}}] or [{"error":{"message","code","data":{...}}}]
 * (or one error object for a request-level error). Polls every 2 s and stops at
 * completed, failed or cancelled, as the hook does.
 */
'use strict';

(function () {
  const POLL_MS = 2000;
  const TERMINAL = ['completed', 'failed', 'cancelled'];

  const params = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
  const base = (params.get('trpc') || '/trpc').replace(/\/+$/, '');

  // Readable messages for the tRPC errors a user can meet (error.data.code).
  const READABLE = {
    UNAUTHORIZED: 'Нет доступа: токен отсутствует, недействителен или истёк. Войдите снова.',
    FORBIDDEN: 'У вас нет доступа к этому курсу.',
    NOT_FOUND: 'Курс не найден.',
    BAD_REQUEST: 'Некорректный запрос.',
    INTERNAL_SERVER_ERROR: 'Внутренняя ошибка сервиса.',
    SERVICE_UNAVAILABLE: 'Сервис временно недоступен.',
    GATEWAY_TIMEOUT: 'Сервис не ответил вовремя.',
    BAD_GATEWAY: 'Сервис недоступен.',
  };

  class TrpcError extends Error {
    constructor(message, code, httpStatus) {
      super(message);
      this.code = code;           // error.data.code, e.g. FORBIDDEN
      this.httpStatus = httpStatus;
    }
  }

  function errorFromEnvelope(err, status) {
    const data = (err && err.data) || {};
    return new TrpcError(String(err && err.message || 'Unknown error'),
                         data.code || 'ERROR', data.httpStatus || status);
  }

  // One tRPC call as httpBatchLink sends it (a batch of one). Returns the data or
  // throws a TrpcError.
  async function trpcCall(procedure, input, token, method) {
    const batchInput = JSON.stringify({ 0: input });
    // The page is in Russian, so it asks for the service's messages in its own
    // language rather than the browser's (the service follows Accept-Language).
    const headers = { 'Accept-Language': document.documentElement.lang || 'ru' };
    if (token) headers.Authorization = 'Bearer ' + token;
    let url = base + '/' + procedure + '?batch=1';
    const init = { method: method || 'GET', headers, cache: 'no-store' };
    if (init.method === 'GET') {
      url += '&input=' + encodeURIComponent(batchInput);
    } else {
      headers['Content-Type'] = 'application/json';
      init.body = batchInput;
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new TrpcError('Network error: ' + e.message, 'NETWORK', 0);
    }
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new TrpcError('Not a tRPC answer (HTTP ' + res.status + ')', 'PARSE_ERROR',
                          res.status);
    }
    const item = Array.isArray(body) ? body[0] : body;
    if (item && item.result) return item.result.data;
    throw errorFromEnvelope(item && item.error, res.status);
  }

  function readable(e) {
    const what = READABLE[e.code] || e.message;
    return what + ' (' + (e.httpStatus ? e.httpStatus + ' ' : '') + e.code + ')';
  }

  // One GenerationProgress card for one course.
  class Card {
    constructor(courseId, token, parent) {
      this.courseId = courseId;
      this.token = token;
      this.polling = true;
      this.timer = null;
      const tpl = document.getElementById('card').content.cloneNode(true);
      this.el = tpl.querySelector('.generation-progress');
      this.el.dataset.course = courseId;
      this.$ = (sel) => this.el.querySelector(sel);
      this.$('.course-id').textContent = courseId;
      this.$('.retry').addEventListener('click', () => this.retry());
      parent.appendChild(this.el);
      this.poll();
    }

    setPolling(on) {
      this.polling = on;
      this.el.dataset.polling = String(on);
      if (!on && this.timer) { clearTimeout(this.timer); this.timer = null; }
    }

    async poll() {
      this.timer = null;
      try {
        const status = await trpcCall('generation.getStatus', { courseId: this.courseId },
                                      this.token);
        this.render(status);
        this.showError(null);
        // The hook: stop polling at a terminal status.
        if (TERMINAL.includes(status.status)) this.setPolling(false);
      } catch (e) {
        this.showError(e);
        // Client errors will not go away by asking again; anything else may.
        if (e.httpStatus >= 400 && e.httpStatus < 500) this.setPolling(false);
      }
      if (this.polling) this.timer = setTimeout(() => this.poll(), POLL_MS);
    }

    render(status) {
      const el = this.el;
      el.dataset.status = status.status;
      el.dataset.progress = String(status.progress);
      this.$('.loading').hidden = true;
      this.$('.badge').textContent = status.status + (status.phase ? ' · ' + status.phase : '');
      this.$('.progress-fill').style.width = status.progress + '%';
      this.$('.progress-bar').setAttribute('aria-valuenow', String(status.progress));
      this.$('.status-message').textContent = status.message;

      // {status.estimatedRemainingSeconds && <p>Осталось ~N мин</p>}
      const eta = this.$('.eta');
      eta.hidden = !status.estimatedRemainingSeconds;
      if (!eta.hidden) {
        eta.textContent = 'Осталось ~' + Math.ceil(status.estimatedRemainingSeconds / 60) + ' мин';
      }
      // {status.metadata?.qualityScore && <p>Качество: N%</p>}
      const md = status.metadata || {};
      const q = this.$('.quality');
      q.hidden = !md.qualityScore;
      if (!q.hidden) q.textContent = 'Качество: ' + (md.qualityScore * 100).toFixed(0) + '%';

      // Not in the contract's component: the rest of the answer, small.
      const bits = [];
      if (md.totalBatches !== undefined) {
        bits.push('Секции: ' + md.batchesCompleted + ' из ' + md.totalBatches);
      }
      if (md.currentModel) bits.push('Модель: ' + md.currentModel);
      if (md.totalLessons !== undefined) bits.push('Уроков: ' + md.totalLessons);
      if (md.totalSections !== undefined) bits.push('Секций: ' + md.totalSections);
      if (md.cost !== undefined) bits.push('Стоимость: $' + md.cost);
      if (md.duration !== undefined) bits.push('Время: ' + Math.round(md.duration / 1000) + ' с');
      if (md.error) bits.push('Ошибка: ' + md.error);
      this.$('.details').textContent = bits.join(' · ');

      // {status.status === 'failed' && status.metadata?.retryable && <button>}
      this.$('.retry').hidden = !(status.status === 'failed' && md.retryable);
      if (this.$('.retry').hidden) this.$('.retry-note').hidden = true;
    }

    showError(e) {
      const box = this.$('.error');
      box.hidden = !e;
      box.textContent = e ? readable(e) : '';
      if (e) {
        this.el.dataset.error = e.code;
        this.$('.loading').hidden = true;
      } else {
        delete this.el.dataset.error;
      }
    }

    // retryGeneration(courseId): generation.initiate is a mutation of the platform,
    // not of coursegen-status (which answers only generation.getStatus). The page
    // calls it for real and says what happened instead of pretending.
    async retry() {
      const note = this.$('.retry-note');
      note.hidden = false;
      note.textContent = 'Вызов generation.initiate…';
      try {
        await trpcCall('generation.initiate', { courseId: this.courseId }, this.token, 'POST');
        note.textContent = 'Генерация запущена заново (generation.initiate).';
        this.setPolling(true);
        this.poll();
      } catch (e) {
        note.textContent = 'Повтор запускает generation.initiate — процедура платформы, ' +
          'а не этого сервиса (coursegen-status отвечает только на generation.getStatus). ' +
          'Ответ: ' + (e.httpStatus ? e.httpStatus + ' ' : '') + e.code + ' «' + e.message + '».';
        this.el.dataset.retry = e.code;
      }
    }
  }

  function start() {
    const courses = params.getAll('course').flatMap((c) => c.split(',')).map((c) => c.trim())
      .filter(Boolean);
    const token = hash.get('token') || params.get('token') || '';
    const root = document.getElementById('courses');
    if (courses.length === 0 || !token) {
      const form = document.getElementById('setup');
      form.hidden = false;
      form.courses.value = courses.join(',');
      form.token.value = token;
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const q = new URLSearchParams();
        form.courses.value.split(',').map((c) => c.trim()).filter(Boolean)
          .forEach((c) => q.append('course', c));
        if (params.get('trpc')) q.set('trpc', params.get('trpc'));
        location.href = location.pathname + '?' + q + '#token=' + encodeURIComponent(form.token.value.trim());
        location.reload();
      });
      return;
    }
    window.cards = courses.map((c) => new Card(c, token, root));
  }

  start();
})();
