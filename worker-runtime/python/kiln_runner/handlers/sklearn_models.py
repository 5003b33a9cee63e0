"""Which scikit-learn estimator serves a model_type, per task, and how to configure it."""
import importlib

from ..errors import InputError

# model_type -> {task: "module.Class"}; a model with one task always does that task.
ESTIMATORS = {
    "logistic_regression": {"classification": "sklearn.linear_model.LogisticRegression"},
    "random_forest": {"classification": "sklearn.ensemble.RandomForestClassifier",
                      "regression": "sklearn.ensemble.RandomForestRegressor"},
    "gradient_boosting": {"classification": "sklearn.ensemble.GradientBoostingClassifier",
                          "regression": "sklearn.ensemble.GradientBoostingRegressor"},
    "svm": {"classification": "sklearn.svm.SVC", "regression": "sklearn.svm.SVR"},
    "decision_tree": {"classification": "sklearn.tree.DecisionTreeClassifier",
                      "regression": "sklearn.tree.DecisionTreeRegressor"},
    "knn": {"classification": "sklearn.neighbors.KNeighborsClassifier",
            "regression": "sklearn.neighbors.KNeighborsRegressor"},
    "naive_bayes": {"classification": "sklearn.naive_bayes.GaussianNB"},
    "linear_regression": {"regression": "sklearn.linear_model.LinearRegression"},
    "ridge": {"regression": "sklearn.linear_model.Ridge"},
    "lasso": {"regression": "sklearn.linear_model.Lasso"},
    "kmeans": {"clustering": "sklearn.cluster.KMeans"},
}

# Hyperparameters the handler itself uses; never passed to the estimator (random_state is both).
RESERVED = {"target", "features", "test_size", "task", "return_probabilities"}
DEFAULTS = {"kmeans": {"n_init": 10}, "logistic_regression": {"max_iter": 1000}}


def fixed_task(model_type):
    """The task when the model has only one, else None (the data decides)."""
    tasks = tasks_of(model_type)
    return next(iter(tasks)) if len(tasks) == 1 else None


def tasks_of(model_type):
    if model_type not in ESTIMATORS:
        raise InputError(f"unknown scikit-learn model_type {model_type!r}; one of {', '.join(sorted(ESTIMATORS))}")
    return ESTIMATORS[model_type]


def build(model_type, task, hyperparameters, seed):
    """(estimator, ignored hyperparameter names)."""
    tasks = tasks_of(model_type)
    if task not in tasks:
        raise InputError(f"{model_type} does not do {task}; it does {', '.join(tasks)}")
    module_name, _, class_name = tasks[task].rpartition(".")
    estimator = getattr(importlib.import_module(module_name), class_name)()
    accepted = estimator.get_params()
    params = {k: v for k, v in DEFAULTS.get(model_type, {}).items() if k in accepted}
    ignored = []
    for key, value in hyperparameters.items():
        if key in RESERVED:
            continue
        if key in accepted:
            params[key] = tuple(value) if isinstance(value, list) else value
        elif key != "random_state":
            ignored.append(key)
    if "random_state" in accepted and "random_state" not in params:
        params["random_state"] = seed
    try:
        estimator.set_params(**params)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid hyperparameters for {class_name}: {exc}") from exc
    return estimator, sorted(ignored)
