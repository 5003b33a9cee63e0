/**
 * The framework registry: the one table of what Kiln knows about each framework.
 * The TypeScript side reads it here; the Python runner reads the JSON that
 * scripts/gen-frameworks.mjs writes from it (worker-runtime/python/kiln_runner/frameworks.json),
 * and tests/frameworks.test.ts fails when the two disagree.
 */

/** How a runner learns its accelerators once the framework is imported. */
export type GpuPolicy =
  /** no accelerator (Node functions, scikit-learn) */
  | 'none'
  /** torch.cuda.is_available() / device_count() */
  | 'torch-cuda'
  /** tf.config.list_physical_devices("GPU") */
  | 'tf-devices'
  /** the fake module's own `cuda` / `gpus` attributes (tests) */
  | 'module-attrs';

export interface FrameworkInfo {
  /** 'node': runs in the worker's process; 'python': a warm kiln_runner process. */
  runtime: 'node' | 'python';
  /** Module the runner imports at start (the Python import name); null for Node. */
  importName: string | null;
  /** What to install when the import fails (pip name). */
  package: string | null;
  /** The runner's built-in handlers module (kiln_runner/handlers/<name>.py); null: user handlers only. */
  runnerModule: string | null;
  /** max_jobs of a type that sets none. */
  defaultMaxJobs: number;
  gpu: GpuPolicy;
  /** Worker types that serve these model families: { cpu, gpu } type names and the model_type values. */
  families: readonly { cpu: string; gpu: string; models: readonly string[] }[];
}

export const FRAMEWORKS = {
  node: { runtime: 'node', importName: null, package: null, runnerModule: null, defaultMaxJobs: 16, gpu: 'none', families: [] },
  pytorch: {
    runtime: 'python', importName: 'torch', package: 'torch', runnerModule: 'torch_handlers', defaultMaxJobs: 1, gpu: 'torch-cuda',
    families: [{
      cpu: 'pytorch-2.1', gpu: 'pytorch-2.1-gpu',
      models: ['bert', 'distilbert', 'roberta', 'gpt2', 't5', 'bart', 'llama', 'transformer', 'resnet', 'vit', 'cnn', 'mlp', 'lstm', 'unet', 'efficientnet', 'yolo'],
    }],
  },
  tensorflow: {
    runtime: 'python', importName: 'tensorflow', package: 'tensorflow', runnerModule: 'tf_handlers', defaultMaxJobs: 1, gpu: 'tf-devices',
    families: [{ cpu: 'tensorflow', gpu: 'tensorflow', models: ['keras', 'keras_sequential', 'keras_cnn', 'keras_lstm', 'keras_mlp', 'tf_mlp'] }],
  },
  sklearn: {
    runtime: 'python', importName: 'sklearn', package: 'scikit-learn', runnerModule: 'sklearn_handlers', defaultMaxJobs: 1, gpu: 'none',
    families: [{
      cpu: 'sklearn', gpu: 'sklearn',
      models: ['random_forest', 'logistic_regression', 'svm', 'gradient_boosting', 'linear_regression', 'kmeans', 'decision_tree', 'knn', 'naive_bayes', 'ridge', 'lasso'],
    }],
  },
  // tests: the module named by KILN_FAKE_MODULE (default kiln_fake) stands in for a framework
  fake: { runtime: 'python', importName: 'kiln_fake', package: null, runnerModule: null, defaultMaxJobs: 1, gpu: 'module-attrs', families: [] },
} as const satisfies Record<string, FrameworkInfo>;

export type FrameworkName = keyof typeof FRAMEWORKS;
export const FRAMEWORK_NAMES = Object.keys(FRAMEWORKS) as [FrameworkName, ...FrameworkName[]];

export function frameworkInfo(name: FrameworkName): FrameworkInfo {
  return FRAMEWORKS[name];
}

/** Python types run one job at a time per worker: one runner process (see worker-runtime/python-executor.ts). */
export const PYTHON_RUNNER_CAPACITY = 1;

/** The registry as the Python runner loads it (snake_case, Python frameworks only). */
export function frameworksJson(): string {
  const py = Object.fromEntries(
    Object.entries(FRAMEWORKS as Record<string, FrameworkInfo>)
      .filter(([, f]) => f.runtime === 'python')
      .map(([name, f]) => [name, {
        import_name: f.importName, package: f.package, runner_module: f.runnerModule, default_max_jobs: f.defaultMaxJobs, gpu: f.gpu,
        families: f.families.map((x) => ({ cpu: x.cpu, gpu: x.gpu, models: [...x.models] })),
      }]),
  );
  return `${JSON.stringify({ generated_by: 'scripts/gen-frameworks.mjs from core/frameworks.ts; do not edit', frameworks: py }, null, 2)}\n`;
}
