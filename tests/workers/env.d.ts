// Types for tests that run inside workerd: `exports` is api/workerd.ts's exports.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import('../../api/workerd');
  }
}
