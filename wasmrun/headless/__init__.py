"""Running a browser build from the terminal (``wasmrun run --headless``): which browser, the page's
reports back to the driver, and the run from a path to an exit code. Playwright is imported only
here, and only when a headless run or ``doctor`` asks for it."""
