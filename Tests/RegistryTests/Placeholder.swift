// Filled by the RegistryTests work; SwiftPM needs one source file per target.
