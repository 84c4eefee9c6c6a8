"""The vulnerability half of the scanner: OSV feeds, version ranges, matching, assessment."""
