// swift-tools-version:6.1
// Hops: throw-away Linux sandboxes for untrusted code.
// Targets follow the layering in DESIGN.md: arrows only point down.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// The two executables that start per command (hops) or per sandbox (hops-init)
/// are position-dependent: with the Swift libraries linked in statically
/// (scripts build with --static-swift-stdlib) the loader would otherwise apply
/// about 150 000 relative relocations at every start.
let fastStart: [LinkerSetting] = [.unsafeFlags(["-Xclang-linker", "-no-pie", "-Xlinker", "--no-export-dynamic"])]

let package = Package(
  name: "hops",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "hops", targets: ["hops"]),
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
    .target(name: "CHops", linkerSettings: [.linkedLibrary("z"), .linkedLibrary("crypto")]),
    // The seccomp filter compiler (libseccomp), for the daemon only.
    .target(name: "CSeccomp", linkerSettings: [.linkedLibrary("seccomp")]),
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
      name: "HopsImage", dependencies: ["HopsOS", "HopsCore"], swiftSettings: strict,
      linkerSettings: [.linkedLibrary("curl")]),
    // What runs inside the sandbox: the launch plan and everything hops-init does with it.
    .target(name: "HopsInit", dependencies: ["HopsOS", "HopsCore"], swiftSettings: strict),
    // A sandbox's life on the host: plan, spawn, I/O, exit, teardown, crash recovery.
    .target(name: "HopsRuntime",
            dependencies: ["HopsPolicy", "HopsOS", "HopsImage", "HopsInit", "HopsCore", "CSeccomp"],
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
    .target(name: "HopsDaemon",
            dependencies: [
              "HopsRuntime", "HopsAPI", "HopsCore", "HopsPolicy", "HopsImage", "HopsOS",
              .product(name: "ArgumentParser", package: "swift-argument-parser"),
              .product(name: "GRPCCore", package: "grpc-swift-2"),
              .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
              .product(name: "Logging", package: "swift-log"),
              .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
    .target(name: "HopsCLI",
            dependencies: [
              "HopsPolicy", "HopsAPI", "HopsCore", "HopsOS",
              .product(name: "ArgumentParser", package: "swift-argument-parser"),
              .product(name: "GRPCCore", package: "grpc-swift-2"),
              .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: strict),
    .executableTarget(name: "hops", dependencies: ["HopsCLI"], swiftSettings: strict, linkerSettings: fastStart),
    .executableTarget(name: "hopsd", dependencies: ["HopsDaemon"], swiftSettings: strict),
    .executableTarget(name: "hops-init", dependencies: ["HopsInit"], swiftSettings: strict, linkerSettings: fastStart),
    // The original quick start's `hops-create-rootfs`: an alias of `hops init`.
    .executableTarget(name: "hops-create-rootfs", dependencies: ["HopsCLI"], swiftSettings: strict),
    .testTarget(name: "HopsPolicyTests", dependencies: ["HopsPolicy"]),
    .testTarget(name: "HopsImageTests", dependencies: ["HopsImage", "HopsOS"]),
    .testTarget(name: "HopsInitTests", dependencies: ["HopsInit"]),
    .testTarget(name: "HopsOSTests", dependencies: ["HopsOS"]),
    .testTarget(name: "HopsAPITests", dependencies: ["HopsAPI", "HopsCore", "HopsPolicy"]),
    .testTarget(name: "HopsCLITests", dependencies: ["HopsCLI", "HopsPolicy"]),
    .testTarget(name: "HopsRuntimeTests", dependencies: ["HopsRuntime", "HopsCore", "HopsPolicy", "CSeccomp"]),
  ]
)
