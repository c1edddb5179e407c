"""report/: the HTML page of ``baton replay --report`` opened in headless Chromium (Debian's ``chromium`` package;
``make test`` installs it on first use). The pages come from the real CLI on the demo day (moto); the tests read
the DOM after the page's script ran and inspect a screenshot's pixels."""
