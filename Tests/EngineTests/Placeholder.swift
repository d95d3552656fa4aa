// Filled by the EngineTests work; SwiftPM needs one source file per target.
