/**
 * GPUs of this host: discovered with nvidia-smi, or listed by KILN_GPUS for hosts
 * and tests without one ("none", "0,1", or a JSON array of {index, name, memory_mb}).
 * GPU worker types get exclusive GPUs through CUDA_VISIBLE_DEVICES.
 */
import { execFile, execFileSync } from 'node:child_process';
import { z } from 'zod';
import { KilnError } from '../core/errors';
import type { WorkerTypeConfig } from '../core/schemas/worker-type';

export interface Gpu {
  index: number;
  name: string;
  memory_mb: number;
}

const gpuListSchema = z.array(z.object({ index: z.number().int().nonnegative(), name: z.string().default('gpu'), memory_mb: z.number().nonnegative().default(0) }));

export function discoverGpus(override: string | undefined): { gpus: Gpu[]; source: 'override' | 'nvidia-smi' | 'none' } {
  if (override !== undefined && override !== '') {
    const v = override.trim();
    if (v === 'none') return { gpus: [], source: 'override' };
    if (/^\d+(,\d+)*$/.test(v)) return { gpus: v.split(',').map((i) => ({ index: Number(i), name: 'gpu', memory_mb: 0 })), source: 'override' };
    try {
      return { gpus: gpuListSchema.parse(JSON.parse(v)), source: 'override' };
    } catch (err) {
      throw new KilnError('BAD_CONFIG', `KILN_GPUS must be "none", a list like "0,1", or a JSON array of {index, name, memory_mb}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const gpus = out.trim().split('\n').filter(Boolean).map((line) => {
      const [index, name, mem] = line.split(',').map((s) => s.trim());
      return { index: Number(index), name: name ?? 'gpu', memory_mb: Number(mem) || 0 };
    });
    return { gpus, source: 'nvidia-smi' };
  } catch {
    return { gpus: [], source: 'none' };
  }
}

/** GPU memory used per process id (MiB), from nvidia-smi; empty where there is none. */
export function sampleGpuMemory(): Promise<Map<number, number>> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { timeout: 5000 }, (err, stdout) => {
      const m = new Map<number, number>();
      if (!err) {
        for (const line of stdout.trim().split('\n')) {
          const [pid, mem] = line.split(',').map((s) => Number(s.trim()));
          if (pid && Number.isFinite(mem)) m.set(pid, (m.get(pid) ?? 0) + (mem ?? 0));
        }
      }
      resolve(m);
    });
  });
}

export function createGpuAllocator(gpus: Gpu[]) {
  const owner = new Map<number, string>();
  return {
    gpus,
    free(): number {
      return gpus.length - owner.size;
    },
    /** Exclusive GPUs for a worker, or undefined when not enough are free. */
    assign(workerId: string, count: number): number[] | undefined {
      const free = gpus.filter((g) => !owner.has(g.index)).slice(0, count);
      if (free.length < count) return undefined;
      for (const g of free) owner.set(g.index, workerId);
      return free.map((g) => g.index);
    },
    release(workerId: string): void {
      for (const [i, w] of owner) if (w === workerId) owner.delete(i);
    },
    /** Why a GPU worker cannot start now, or undefined when it can. */
    blockedReason(count: number): string | undefined {
      if (gpus.length === 0) return 'no free GPU: this spawner has no GPU (nvidia-smi found none; KILN_GPUS overrides)';
      if (gpus.length < count) return `no free GPU: a worker needs ${count} GPUs and this host has ${gpus.length}`;
      if (this.free() < count) return `no free GPU: all ${gpus.length} GPU(s) are held by other workers`;
      return undefined;
    },
  };
}

export type GpuAllocator = ReturnType<typeof createGpuAllocator>;

/** A worker's GPU environment: GPU types get exclusive GPUs, every other type sees none. */
export function gpuEnv(gpus: GpuAllocator, id: string, type: string, cfg: WorkerTypeConfig): { env: Record<string, string>; gpu?: string } {
  if (!cfg.gpu) return { env: { CUDA_VISIBLE_DEVICES: '' } };
  const count = Math.max(1, cfg.gpus_per_worker);
  const assigned = gpus.assign(id, count);
  if (!assigned) {
    throw new KilnError('NO_GPU_AVAILABLE', `cannot start a "${type}" worker: ${gpus.blockedReason(count) ?? 'no GPU free'}`, { status: 409 });
  }
  const list = assigned.join(',');
  return { env: { CUDA_VISIBLE_DEVICES: list }, gpu: list };
}
