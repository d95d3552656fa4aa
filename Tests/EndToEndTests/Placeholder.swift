// Filled by the EndToEndTests work; SwiftPM needs one source file per target.
