/**
 * Child-process entry of bench/http-load.ts: says `ready` once loaded, then runs
 * each LoadOptions it is sent and answers its LoadResult. Exits when its parent goes.
 */
import { runLoad, type LoadOptions } from './http-load';

process.on('message', (opts: LoadOptions) => {
  void runLoad(opts).then((result) => process.send?.(result));
});
process.on('disconnect', () => process.exit(0));
process.send?.('ready');
