/** Worker-thread entry of bench/http-load.ts: runs the load given as workerData, posts the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { runLoad, type LoadOptions } from './http-load';

parentPort?.postMessage(await runLoad(workerData as LoadOptions));
