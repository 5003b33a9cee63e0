"""Built-in handlers (training and inference per framework) and the user-handler loader."""
