/**
 * This host's Python templates, one per Python type (spawner/template-process.ts):
 * started with the spawner for types with min_workers, else by the type's first
 * worker; replaced when the interpreter, the runner package or the handlers change
 * (a stat fingerprint, checked as each worker starts); stopped after
 * template_idle_timeout without a fork. A type opts out with `template: false` (the
 * host with KILN_TEMPLATES=false). A template that fails, or whose forks fail their
 * self-test, is left off until its fingerprint changes: workers spawn runners then.
 */
import { mkdtempSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRAMEWORKS } from '../core/frameworks';
import type { LogFn } from '../core/logger';
import { hostScrubber, hostSecrets } from '../core/redact';
import type { WorkerTypeConfig } from '../core/schemas/worker-type';
import { resolvePython } from '../worker-runtime/python-runner-process';
import type { SpawnerConfig } from './config';
import { allowedEnv, pidAlive, rssBytes } from './launcher';
import { PROJECT_ROOT } from './project-root';
import { makePrivateDir } from './state-dir';
import { TemplateProcess } from './template-process';
import { workerProcessEnv } from './worker-boot';

/** A template as GET /workers/templates and the metrics show it. */
export interface TemplateStatus {
  worker_type: string;
  state: 'starting' | 'ready' | 'failed' | 'exited' | 'off';
  pid: number | null;
  rss_bytes: number;
  forks: number;
  /** Runners it forked that are still known alive. */
  runners: number;
  started_at: number | null;
  last_fork_at: number | null;
  import_ms: number | null;
  reason: string | null;
}

interface Entry {
  proc: TemplateProcess | undefined;
  fingerprint: string;
  /** Why the type starts its runners plainly (a failed template, a fork that failed its self-test). */
  off: string | undefined;
  lastUsed: number;
}

const RUNNER_PATH = join(PROJECT_ROOT, 'worker-runtime', 'python');
/** Longest socket path bound in the state folder (sun_path holds 108 bytes). */
const MAX_SOCKET_PATH = 100;

/** Files whose change means the template no longer imports what a fresh runner would. */
function filesOf(dir: string | undefined, suffixes: string[]): string[] {
  if (!dir) return [];
  try {
    return readdirSync(dir).filter((f) => suffixes.some((s) => f.endsWith(s))).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

function stamp(path: string): string {
  try {
    const st = statSync(path);
    return `${path}:${realpathSync(path)}:${st.mtimeMs}:${st.size}`;
  } catch {
    return `${path}:absent`;
  }
}

export function createTemplates(deps: { config: SpawnerConfig; log: LogFn; now(): number; runnerPath?: string }) {
  const { config, log } = deps;
  const runnerPath = deps.runnerPath ?? RUNNER_PATH;
  const entries = new Map<string, Entry>();
  /** Templates replaced or stopped: their runners live on with their workers. */
  const retired = new Set<TemplateProcess>();
  const dir = join(config.stateDir, 'templates');
  let shortDir: string | undefined;
  let seq = 0;

  /** A reason as views may show it: the type's env values and interpreter redacted, the host's folders by name. */
  const scrub = (cfg: WorkerTypeConfig | undefined, text: string) =>
    hostScrubber(cfg ? hostSecrets(cfg) : [], [[config.stateDir, '$KILN_STATE_DIR'], [PROJECT_ROOT, '$KILN_ROOT']])(text);
  const wanted = (cfg: WorkerTypeConfig) => config.templates && cfg.template && FRAMEWORKS[cfg.framework].runtime === 'python';
  const pythonOf = (cfg: WorkerTypeConfig) => resolvePython(cfg.python ?? config.defaultPython, process.env.PATH);

  function fingerprint(cfg: WorkerTypeConfig): string {
    const files = [
      pythonOf(cfg), ...filesOf(join(runnerPath, 'kiln_runner'), ['.py', '.json']),
      ...filesOf(join(runnerPath, 'kiln_runner', 'handlers'), ['.py']), ...filesOf(config.handlersDir, ['.py']),
    ];
    return JSON.stringify([cfg.python, cfg.python_path, cfg.env, cfg.framework, files.map(stamp)]);
  }

  function socketPath(type: string): string {
    makePrivateDir(dir);
    const name = `${type}-${++seq}.sock`;
    if (Buffer.byteLength(join(dir, name)) <= MAX_SOCKET_PATH) return join(dir, name);
    shortDir ??= mkdtempSync(join(tmpdir(), 'kiln-t-')); // 0700
    return join(shortDir, name);
  }

  function launch(type: string, cfg: WorkerTypeConfig, fp: string): Entry {
    const env = workerProcessEnv(allowedEnv(process.env), config, type, cfg, {
      LOG_LEVEL: config.logLevel, KILN_DATA_ROOT: config.dataRoot, KILN_ARTIFACT_ROOT: config.artifactRoot,
      ...(config.handlersDir && { KILN_HANDLERS_DIR: config.handlersDir }),
    });
    const proc = new TemplateProcess({
      python: pythonOf(cfg), framework: cfg.framework, runnerPath, pythonPath: cfg.python_path ?? [], env,
      socket: socketPath(type), cwd: config.stateDir, onStderr: (line) => log('info', `template ${type}: ${line}`),
    });
    const entry: Entry = { proc, fingerprint: fp, off: undefined, lastUsed: deps.now() };
    log('info', `starting the ${type} template (pid ${proc.pid})`, { worker_type: type });
    void proc.ready.then((ok) => {
      if (ok) log('info', `the ${type} template is ready (pid ${proc.pid}, ${cfg.framework} imported in ${Math.round(proc.importMs ?? 0)} ms)`, { worker_type: type });
      else if (entries.get(type) === entry && proc.state === 'failed') {
        entry.off = scrub(cfg, proc.reason ?? 'it failed');
        log('warn', `the ${type} template failed (${entry.off}); its workers spawn their runners`, { worker_type: type });
      }
    });
    entries.set(type, entry);
    return entry;
  }

  function retire(type: string, e: Entry, why: string): void {
    const proc = e.proc;
    e.proc = undefined;
    if (!proc || proc.state === 'failed' || proc.state === 'exited') return;
    log('info', `stopping the ${type} template (pid ${proc.pid}): ${why}`, { worker_type: type });
    retired.add(proc);
    void proc.stop();
  }

  return {
    /**
     * The socket of the type's template for a worker about to start (started when absent,
     * replaced when stale), or undefined: the worker spawns its runner.
     */
    socketFor(type: string, cfg: WorkerTypeConfig): string | undefined {
      if (!wanted(cfg)) return undefined;
      const fp = fingerprint(cfg);
      let e = entries.get(type);
      if (e && e.fingerprint !== fp) {
        retire(type, e, 'its interpreter, runner or handlers changed');
        e = undefined;
      }
      if (e?.off) return undefined;
      if (!e?.proc || e.proc.state === 'exited') e = launch(type, cfg, fp);
      e.lastUsed = deps.now();
      return e.proc?.spec.socket;
    },
    /** A worker's runner could not be forked; an unsafe fork turns the type's template off. */
    fallback(type: string, reason: string, unsafe: boolean): void {
      const e = entries.get(type);
      if (!unsafe || !e || e.off) return;
      e.off = scrub(config.types[type], `a forked runner failed its self-test: ${reason}`);
      log('warn', `the ${type} template is off (${e.off}); its workers spawn their runners`, { worker_type: type });
      retire(type, e, 'its forks are not safe');
    },
    /** Runners forked for the worker with this pid (alive as far as their template knows). */
    runnerPids(workerPid: number): number[] {
      const out: number[] = [];
      for (const proc of [...retired, ...[...entries.values()].flatMap((e) => (e.proc ? [e.proc] : []))]) {
        for (const [pid, owner] of proc.runners) if (owner === workerPid) out.push(pid);
      }
      return out;
    },
    /** Starts the templates of types that keep workers (min_workers), so the first ones fork. */
    startEager(): void {
      for (const [type, cfg] of Object.entries(config.types)) if (cfg.min_workers > 0) this.socketFor(type, cfg);
    },
    /** Stops templates idle past template_idle_timeout; forgets retired ones whose runners are gone. */
    tick(): void {
      const now = deps.now();
      for (const [type, e] of entries) {
        const cfg = config.types[type];
        // a template still importing is not idle: the workers that started it wait for it
        const p = e.proc;
        if (!cfg || !p || e.off || p.state !== 'ready') continue;
        const last = Math.max(e.lastUsed, p.readyAt ?? 0, p.lastForkAt ?? 0);
        if (now - last > cfg.template_idle_timeout * 1000) {
          retire(type, e, `no fork for ${cfg.template_idle_timeout} s (template_idle_timeout)`);
          entries.delete(type);
        }
      }
      for (const proc of retired) {
        for (const pid of proc.runners.keys()) if (!pidAlive(pid)) proc.runners.delete(pid);
        if (proc.runners.size === 0 && proc.child.exitCode !== null) retired.delete(proc);
      }
    },
    status(): TemplateStatus[] {
      return [...entries].map(([type, e]) => {
        const p = e.proc;
        const live = p && (p.state === 'starting' || p.state === 'ready');
        return {
          worker_type: type, state: e.off ? 'off' : p?.state ?? 'exited', pid: live ? p.pid ?? null : null,
          rss_bytes: live && p.pid ? rssBytes(p.pid) : 0, forks: p?.forks ?? 0, runners: p?.runners.size ?? 0,
          started_at: p?.startedAt ?? null, last_fork_at: p?.lastForkAt ?? null, import_ms: p?.importMs ?? null,
          reason: e.off ?? (p?.reason === undefined ? null : scrub(config.types[type], p.reason)),
        };
      });
    },
    /** Stops every template (the spawner is stopping); runners go with their workers. */
    async stopAll(): Promise<void> {
      const procs = [...retired, ...[...entries.values()].flatMap((e) => (e.proc ? [e.proc] : []))];
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}

export type Templates = ReturnType<typeof createTemplates>;
