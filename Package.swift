// swift-tools-version:6.1
// Hops: throw-away Linux sandboxes for untrusted code.
// Targets follow the layering in DESIGN.md: arrows only point down.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// The full command line (hops-cli) is position-dependent and exports no
/// symbols: with the Swift libraries linked in statically (scripts build with
/// --static-swift-stdlib) the loader would otherwise apply about 150 000
/// relative relocations at every start, and search a dynamic symbol table of
/// some 48 000 entries.
let fastStart: [LinkerSetting] = [.unsafeFlags(["-Xclang-linker", "-no-pie", "-Xlinker", "--no-export-dynamic"])]

/// The `hops` front and `hops-init` (one start per command, one per sandbox)
/// are linked fully static, glibc too: no loader, no shared libraries to map
/// and relocate, about 0.7 ms less CPU at each start. Neither looks a user up
/// through NSS (hops-init reads the sandbox's own /etc/passwd; the front calls
/// getpwuid only without $HOME, which static glibc serves with the host's NSS
/// libraries: fine, as it is built on the host it runs on). SwiftPM names
/// FoundationEssentials' two helper libraries only for --static-swift-stdlib
/// builds; debug builds need them too.
let staticStart: [LinkerSetting] = [
  .unsafeFlags(["-static-executable", "-Xlinker", "--no-export-dynamic", "-l_FoundationCollections", "-l_FoundationCShims"])
]

/// The `hops` front is C alone: linked fully static, and without the Swift
/// startup object (swiftrt.o), whose constructor would register the image
/// with the Swift runtime and pull all of it in. Nothing of the runtime is
/// then linked (the archives' members are only taken for symbols the C uses).
let cStart: [LinkerSetting] = [.unsafeFlags(["-static-executable", "-nostartfiles"])]

let package = Package(
  name: "hops",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "hops", targets: ["hops"]),
    .executable(name: "hops-cli", targets: ["hops-cli"]),
    .executable(name: "hopsd", targets: ["hopsd"]),
    .executable(name: "hops-init", targets: ["hops-init"]),
    .executable(name: "hops-create-rootfs", targets: ["hops-create-rootfs"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.65.0"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.28.0"),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.0.0"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.0.0"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.0.0"),
    .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
  ],
  targets: [
    // Shared vocabulary of every layer: the one error type and the $HOPS_HOME layout.
    .target(name: "HopsCore", swiftSettings: strict),
    // The few C functions that must run between fork and exec, or that Swift cannot call.
    .target(name: "CHops"),
    // The `hops` front's common run, in C: a new process at every command.
    .target(name: "CFront"),
    // zlib and OpenSSL for reading and checking images, apart so that only
    // HopsImage links them.
    .target(name: "CArchive", linkerSettings: [.linkedLibrary("z"), .linkedLibrary("crypto")]),
    // The seccomp filter compiler (libseccomp), for the daemon only.
    .target(name: "CSeccomp", linkerSettings: [.linkedLibrary("seccomp")]),
    // The host side of sandbox networks (rtnetlink links, libnftables rules,
    // opened on first use), for the daemon only.
    .target(name: "CHostNetwork"),
    // Policy model and validation (profiles arrive with the profiles issue).
    .target(
      name: "HopsPolicy",
      dependencies: ["HopsCore", .product(name: "TOMLKit", package: "TOMLKit")],
      swiftSettings: strict),
    // Thin Swift wrappers over Linux system calls.
    .target(name: "HopsOS", dependencies: ["CHops", "HopsCore"], swiftSettings: strict),
    // Root filesystems: tarball import, directory import, the BusyBox rootfs.
    // Registry pulls use FoundationNetworking, which needs libcurl once the Swift
    // libraries are linked statically.
    .target(
      name: "HopsImage", dependencies: ["HopsOS", "HopsCore", "CArchive"], swiftSettings: strict,
      linkerSettings: [.linkedLibrary("curl")]),
    // What runs inside the sandbox: the launch plan and everything hops-init does with it.
    .target(name: "HopsInit", dependencies: ["HopsOS", "HopsCore"], swiftSettings: strict),
    // A sandbox's life on the host: plan, spawn, I/O, exit, teardown, crash recovery.
    .target(name: "HopsRuntime",
            dependencies: ["HopsPolicy", "HopsOS", "HopsImage", "HopsInit", "HopsCore", "CSeccomp", "CHostNetwork"],
            swiftSettings: strict),
    // The gRPC contract and its generated code.
    .target(name: "HopsAPI",
            dependencies: [
              "HopsCore", "HopsPolicy", "HopsOS",
              .product(name: "SwiftProtobuf", package: "swift-protobuf"),
              .product(name: "GRPCCore", package: "grpc-swift-2"),
              .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            exclude: ["hops.proto"],
            swiftSettings: strict),
    // Direct runs on run.sock: their messages, their client, and the common
    // `hops run` read without ArgumentParser (QuickRun). Nothing heavy: the
    // `hops` front is built from this alone.
    .target(name: "HopsDirectRun", dependencies: ["HopsCore", "HopsOS"], swiftSettings: strict),
    .target(name: "HopsDaemon",
            dependencies: [
              "HopsRuntime", "HopsAPI", "HopsDirectRun", "HopsCore", "HopsPolicy", "HopsImage", "HopsOS",
              .product(name: "ArgumentParser", package: "swift-argument-parser"),
              .product(name: "GRPCCore", package: "grpc-swift-2"),
              .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
              .product(name: "Logging", package: "swift-log"),
              .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
    .target(name: "HopsCLI",
            dependencies: [
              "HopsPolicy", "HopsAPI", "HopsDirectRun", "HopsCore", "HopsOS", "CHostNetwork",
              .product(name: "ArgumentParser", package: "swift-argument-parser"),
              .product(name: "GRPCCore", package: "grpc-swift-2"),
              .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: strict),
    // `hops`: the front (the common run, straight to the daemon), and the full
    // command line it hands everything else to.
    .executableTarget(name: "hops", dependencies: ["CFront"], linkerSettings: cStart),
    .executableTarget(name: "hops-cli", dependencies: ["HopsCLI"], swiftSettings: strict, linkerSettings: fastStart),
    .executableTarget(name: "hopsd", dependencies: ["HopsDaemon"], swiftSettings: strict),
    .executableTarget(name: "hops-init", dependencies: ["HopsInit"], swiftSettings: strict, linkerSettings: staticStart),
    // The original quick start's `hops-create-rootfs`: an alias of `hops init`.
    .executableTarget(name: "hops-create-rootfs", dependencies: ["HopsCLI"], swiftSettings: strict),
    .testTarget(name: "HopsCoreTests", dependencies: ["HopsCore"]),
    .testTarget(name: "HopsPolicyTests", dependencies: ["HopsPolicy"]),
    .testTarget(name: "HopsImageTests", dependencies: ["HopsImage", "HopsOS"]),
    .testTarget(name: "HopsInitTests", dependencies: ["HopsInit"]),
    .testTarget(name: "HopsOSTests", dependencies: ["HopsOS"]),
    .testTarget(name: "HopsAPITests", dependencies: ["HopsAPI", "HopsCore", "HopsPolicy"]),
    .testTarget(name: "HopsCLITests", dependencies: ["HopsCLI", "HopsPolicy", "HopsDirectRun", "HopsCore", "CFront"]),
    .testTarget(name: "HopsRuntimeTests", dependencies: ["HopsRuntime", "HopsCore", "HopsPolicy", "CSeccomp"]),
  ]
)
