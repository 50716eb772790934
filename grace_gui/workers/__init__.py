"""Background work for the GUI: thread-pool jobs and the training process watcher."""
