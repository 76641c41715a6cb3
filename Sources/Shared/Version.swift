/// The release both programs report with --version.
public let bustdVersion = "0.2.0"
