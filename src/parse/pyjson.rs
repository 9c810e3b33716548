//! A JSON reader for the dialect Python's `json.loads` accepts (NaN/Infinity literals,
//! lone surrogate escapes, arbitrary-size integers), plus Python `str()`/`repr()` of
//! the values it reads. No recursion: nesting depth is bounded only by memory.
