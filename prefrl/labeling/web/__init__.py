"""The labeling page: a FastAPI app (``app``), served with uvicorn from background threads (``server``)."""
