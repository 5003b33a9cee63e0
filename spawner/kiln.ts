/** Entry of the `kiln` bin (dist/kiln.mjs): jobs, workers and the daemon (see cli/main.ts). */
import { runMain } from './cli/main';

runMain('kiln');
