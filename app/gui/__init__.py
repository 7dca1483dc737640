"""The desktop app: window, controller, compute worker, qasync loop, settings, export, feed source."""
