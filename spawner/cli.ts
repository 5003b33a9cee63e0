/** Entry of the `spawner` bin (dist/cli.mjs): the same commands as `kiln` (see cli/main.ts). */
import { runMain } from './cli/main';

runMain('spawner');
