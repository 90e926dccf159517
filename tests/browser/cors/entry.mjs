// entry.mjs - what the cross-origin page uses of @trpc/client 11, bundled by esbuild
// into one script (window.TRPC) by tests/browser/test_cors_page.py.
export {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  TRPCClientError,
} from '@trpc/client';
