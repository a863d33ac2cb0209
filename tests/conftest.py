"""Test-wide settings: a fresh result cache, so no test is served a result from outside."""
import os
import tempfile

os.environ["IB_BOOK_CACHE"] = tempfile.mkdtemp(prefix="ib-book-test-cache-")
