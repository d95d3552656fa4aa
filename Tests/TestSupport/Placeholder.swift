// Filled by the TestSupport work; SwiftPM needs one source file per target.
