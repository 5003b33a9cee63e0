/**
 * The first module a worker evaluates (imported first by main.ts): a Python worker
 * whose type has a template asks it for the runner at once, so the fork, the runner's
 * self-test and its ready overlap the loading of the rest of the worker. The request
 * is written before evaluation goes on (one turn of the event loop, top-level await);
 * the executor takes this runner for its first start, holding its early messages.
 */
import { workerBootSchema } from '../core/schemas/ipc';
import { ForkedRunner } from './python-forked-runner';
import { RUNNER_PATH, runnerOptions } from './runner-options';

function ask(): ForkedRunner | undefined {
  const socket = process.env.KILN_TEMPLATE_SOCKET;
  if (!socket) return undefined;
  try {
    const boot = workerBootSchema.parse(JSON.parse(process.env.KILN_WORKER ?? '{}'));
    return boot.framework === 'node' ? undefined : new ForkedRunner(runnerOptions(boot), RUNNER_PATH, socket);
  } catch {
    return undefined; // main() reports a bad boot description; the executor asks again
  }
}

export const preforked = ask();
if (preforked) await Promise.race([preforked.asked, new Promise((r) => setTimeout(r, 50))]);
