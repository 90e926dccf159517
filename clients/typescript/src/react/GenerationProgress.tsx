/*
 * GenerationProgress.tsx - the contract's component (section 6.1) on
 * useGenerationStatus, with the labels of the plain progress page (web/) and its
 * class names, so web/progress.css styles it as it is.
 *
 * Differences from the contract's listing, on purpose: an ETA or a quality score of
 * 0 is not rendered as a stray "0" (the listing's `x && <p/>`), errors are shown
 * in Russian with their code, and retryGeneration (the platform's
 * generation.initiate, not a procedure of this service) is the onRetry prop.
 */
import type { ReactElement } from 'react';

import type { GetStatusOutput } from '../schema.js';
import {
  useGenerationStatus, type GenerationStatusError, type UseGenerationStatusOptions,
} from './useGenerationStatus.js';

/** Readable messages for the errors a user can meet (error.data.code). */
export const READABLE_ERRORS: Readonly<Record<string, string>> = {
  UNAUTHORIZED: 'Нет доступа: токен отсутствует, недействителен или истёк. Войдите снова.',
  FORBIDDEN: 'У вас нет доступа к этому курсу.',
  NOT_FOUND: 'Курс не найден.',
  BAD_REQUEST: 'Некорректный запрос.',
  INTERNAL_SERVER_ERROR: 'Внутренняя ошибка сервиса.',
  SERVICE_UNAVAILABLE: 'Сервис временно недоступен.',
  GATEWAY_TIMEOUT: 'Сервис не ответил вовремя.',
  BAD_GATEWAY: 'Сервис недоступен.',
};

/** "Курс не найден. (404 NOT_FOUND)", as the progress page words it. */
export function readableError(error: GenerationStatusError): string {
  const code = error.data?.code ?? 'ERROR';
  const http = error.data?.httpStatus;
  return `${READABLE_ERRORS[code] ?? error.message} (${http ? `${http} ` : ''}${code})`;
}

/** The small print under the message: batches, model, totals, the error. */
export function statusDetails(status: GetStatusOutput): string {
  const md = status.metadata ?? {};
  const bits: string[] = [];
  if (md.totalBatches !== undefined) {
    bits.push(`Секции: ${md.batchesCompleted ?? 0} из ${md.totalBatches}`);
  }
  if (md.currentModel) bits.push(`Модель: ${md.currentModel}`);
  if (md.totalLessons !== undefined) bits.push(`Уроков: ${md.totalLessons}`);
  if (md.totalSections !== undefined) bits.push(`Секций: ${md.totalSections}`);
  if (md.cost !== undefined) bits.push(`Стоимость: $${md.cost}`);
  if (md.duration !== undefined) bits.push(`Время: ${Math.round(md.duration / 1000)} с`);
  if (md.error) bits.push(`Ошибка: ${md.error}`);
  return bits.join(' · ');
}

export interface GenerationProgressProps extends UseGenerationStatusOptions {
  courseId: string;
  /** The retry button's action (the platform's generation.initiate); polling
   *  starts again after it. */
  onRetry?: (courseId: string) => void | Promise<unknown>;
}

export function GenerationProgress(props: GenerationProgressProps): ReactElement {
  const { courseId, onRetry, ...options } = props;
  const { status, error, isPolling, startPolling } = useGenerationStatus(courseId, options);
  const common = {
    className: 'generation-progress',
    'data-course': courseId,
    'data-polling': String(isPolling),
    'data-status': status?.status ?? '',
    ...(error ? { 'data-error': error.data?.code ?? 'ERROR' } : {}),
  };
  const errorBox = error ? <p className="error" role="alert">{readableError(error)}</p> : null;

  if (!status) {
    return (
      <section {...common}>
        {errorBox ?? <div className="loading">Загрузка...</div>}
      </section>
    );
  }

  const eta = status.estimatedRemainingSeconds;
  const quality = status.metadata?.qualityScore;
  const details = statusDetails(status);
  const retry = async () => {
    try {
      await onRetry?.(courseId);
    } finally {
      startPolling();
    }
  };
  return (
    <section {...common} data-progress={status.progress}>
      <header>
        <span className="course-id">{courseId}</span>{' '}
        <span className="badge">{status.status + (status.phase ? ` · ${status.phase}` : '')}</span>
      </header>
      <div className="progress-bar" role="progressbar" aria-valuemin={0} aria-valuemax={100}
        aria-valuenow={status.progress}>
        <div className="progress-fill" style={{ width: `${status.progress}%` }} />
      </div>
      <p className="status-message">{status.message}</p>
      {eta !== null && eta > 0 && (
        <p className="eta">Осталось ~{Math.ceil(eta / 60)} мин</p>
      )}
      {quality !== undefined && quality > 0 && (
        <p className="quality">Качество: {(quality * 100).toFixed(0)}%</p>
      )}
      {details && <p className="details">{details}</p>}
      {status.status === 'failed' && status.metadata?.retryable && (
        <button className="retry" type="button" onClick={() => void retry()}>
          Повторить попытку
        </button>
      )}
      {errorBox}
    </section>
  );
}
