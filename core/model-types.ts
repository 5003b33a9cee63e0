/**
 * Which worker type serves a model_type. Transformer and vision models go to
 * PyTorch, Keras-style models to TensorFlow, classic ML to scikit-learn; GPU jobs
 * get the `-gpu` variant where one exists.
 */
// a Map: a model_type such as "constructor" or "__proto__" is unknown, not inherited
const TABLE = new Map<string, { cpu: string; gpu: string }>();
const add = (cpu: string, gpu: string, models: string[]) => {
  for (const m of models) TABLE.set(m, { cpu, gpu });
};
add('pytorch-2.1', 'pytorch-2.1-gpu', [
  'bert', 'distilbert', 'roberta', 'gpt2', 't5', 'bart', 'llama', 'transformer',
  'resnet', 'vit', 'cnn', 'mlp', 'lstm', 'unet', 'efficientnet', 'yolo',
]);
add('tensorflow', 'tensorflow', ['keras', 'keras_sequential', 'keras_cnn', 'keras_lstm', 'keras_mlp', 'tf_mlp']);
add('sklearn', 'sklearn', [
  'random_forest', 'logistic_regression', 'svm', 'gradient_boosting', 'linear_regression',
  'kmeans', 'decision_tree', 'knn', 'naive_bayes', 'ridge', 'lasso',
]);

export const KNOWN_MODEL_TYPES: readonly string[] = [...TABLE.keys()].sort();

/** The worker type for a model, or undefined when the model type is unknown. */
export function workerTypeForModel(modelType: string, requiresGpu: boolean): string | undefined {
  const row = TABLE.get(modelType.toLowerCase());
  return row && (requiresGpu ? row.gpu : row.cpu);
}
