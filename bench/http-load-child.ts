/** Child-process entry of bench/http-load.ts: takes LoadOptions over IPC, answers the LoadResult. */
import { runLoad, type LoadOptions } from './http-load';

process.once('message', (opts: LoadOptions) => {
  void runLoad(opts).then((result) => process.send?.(result, () => process.exit(0)));
});
