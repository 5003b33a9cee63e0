// Types for tests that run inside workerd: `exports` is api/worker.ts's exports.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import('../../api/worker');
  }
}
