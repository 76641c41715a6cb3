// swift-tools-version: 6.0
import PackageDescription

// Two builds of the same sources:
// - ordinary Swift (`swift build`, `swift test`): what the tests exercise;
// - BUSTD_EMBEDDED=1: the release daemon in Embedded Swift, linked statically.
//   Only Embedded Swift reaches the footprint of the C daemons (see the
//   README's footprint table), so the daemon and Shared avoid Foundation,
//   Codable and existentials, and reach libc through CBustd.
let embedded = Context.environment["BUSTD_EMBEDDED"] == "1"
let embeddedLibDir =
    Context.environment["BUSTD_EMBEDDED_LIB"]
    ?? "/opt/swift/usr/lib/swift/embedded/x86_64-unknown-linux-gnu"

let daemonSwiftSettings: [SwiftSetting] =
    embedded
    ? [
        .enableExperimentalFeature("Embedded"),
        .unsafeFlags(["-wmo", "-Osize", "-Xfrontend", "-function-sections", "-Xcc", "-DBUSTD_EMBEDDED_LIBC"]),
    ]
    : []
// The functions the running daemon uses (its loop, its kill path) first in
// the text, so that the pages they fill are few: start-up code is dropped
// from memory after start, and what stays resident follows the layout
// (Sources/bustd/hot-symbols.txt, made by dist/hot-symbols).
let hotSymbols = Context.packageDirectory + "/Sources/bustd/hot-symbols.txt"
let staticLibc = Context.environment["BUSTD_DYNAMIC_LIBC"] != "1"
let daemonLinkerSettings: [LinkerSetting] =
    embedded
    ? [
        .unsafeFlags(
            ["-L" + embeddedLibDir, "-lswiftUnicodeDataTables", "-lm", "-use-ld=lld"]
                + (staticLibc ? ["-Xclang-linker", "-static"] : [])
                + [
                    "-Xlinker", "--gc-sections",
                    "-Xlinker", "--symbol-ordering-file=" + hotSymbols, "-Xlinker", "--no-warn-symbol-ordering",
                ])
    ]
    : []

let package = Package(
    name: "bustd",
    products: [
        .executable(name: "bustd", targets: ["bustd"]),
        .executable(name: "bustd-notify", targets: ["bustd-notify"]),
    ],
    targets: [
        .target(name: "CBustd", cSettings: [.unsafeFlags(["-ffunction-sections", "-fdata-sections"])]),
        .target(name: "Shared", dependencies: ["CBustd"], swiftSettings: daemonSwiftSettings),
        .executableTarget(
            name: "bustd",
            dependencies: ["CBustd", "Shared"],
            exclude: ["hot-symbols.txt"],
            swiftSettings: daemonSwiftSettings,
            linkerSettings: daemonLinkerSettings),
        // The per-user notifier: ordinary Swift without Foundation, libnotify
        // through a system library, SO_PEERCRED through a tiny C target.
        .systemLibrary(name: "CLibNotify", pkgConfig: "libnotify", providers: [.apt(["libnotify-dev"])]),
        .systemLibrary(name: "CGioUnix", pkgConfig: "gio-unix-2.0", providers: [.apt(["libglib2.0-dev"])]),
        .target(name: "CNotifySupport"),
        .executableTarget(name: "bustd-notify", dependencies: ["Shared", "CLibNotify", "CGioUnix", "CNotifySupport"]),
        .testTarget(name: "bustdTests", dependencies: ["bustd", "Shared", "CBustd"]),
        .testTarget(name: "SharedTests", dependencies: ["Shared"]),
        .testTarget(
            name: "bustdNotifyTests", dependencies: ["bustd-notify", "Shared"],
            exclude: ["Resources"]),
    ]
)
