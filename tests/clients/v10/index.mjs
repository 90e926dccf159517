// The tRPC v10 client, resolved from this workspace's own node_modules
// (v10/node_modules/@trpc/client 10.45.4 with its peer @trpc/server 10.45.4).
export * from '@trpc/client';
