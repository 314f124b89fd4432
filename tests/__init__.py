"""Test suite. A package so test modules are named tests.<...> and never shadow rules/ or api/."""
