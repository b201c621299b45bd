/// The profiles that ship inside the binary. They are TOML like any user profile
/// and go through the same parser, so a user can `profile show` one, copy it with
/// `profile create --template`, and shadow it with a file of the same name.
public enum BuiltinProfiles {
  public static let sources: [(name: String, toml: String)] = [
    ("default", """
      name = "default"
      version = "1.0.0"
      description = "Balanced defaults: no network, read-write workspace, 2 CPUs, 512 MiB, 100 processes"

      [capabilities]
      network = "disabled"
      filesystem = ["read", "write", "execute"]

      [capabilities.resource_limits]
      cpus = 2
      memory_bytes = 536870912
      max_processes = 100

      [sandbox]
      working_directory = "/workspace"
      """),
    ("minimal", """
      name = "minimal"
      version = "1.0.0"
      description = "The least a command can run with: read-only workspace, no network, 1 CPU, 256 MiB, 32 processes"

      [capabilities]
      network = "disabled"
      filesystem = ["read", "execute"]

      [capabilities.resource_limits]
      cpus = 1
      memory_bytes = 268435456
      max_processes = 32

      [sandbox]
      workspace_mode = "ro"
      """),
    ("untrusted", """
      name = "untrusted"
      version = "1.0.0"
      description = "Code you do not trust: no network, the workspace copy-on-write (host untouched), nothing executable from it"

      [capabilities]
      network = "disabled"
      filesystem = ["read", "write"]
      denied_paths = ["/etc/shadow", "/etc/gshadow"]

      [capabilities.resource_limits]
      cpus = 1
      memory_bytes = 268435456
      max_processes = 64

      [sandbox]
      hostname = "untrusted"
      workspace_mode = "overlay"

      [[sandbox.mounts]]
      type = "tmpfs"
      destination = "/tmp"
      options = ["size=64m", "mode=1777"]
      """),
    ("development", """
      name = "development"
      version = "1.0.0"
      description = "Interactive development: loopback network for local servers, read-write workspace, generous limits"

      [capabilities]
      network = "loopback"
      filesystem = ["read", "write", "execute"]

      [capabilities.resource_limits]
      cpus = 2
      memory_bytes = 2147483648
      max_processes = 1024

      [sandbox]
      hostname = "dev"
      """),
    ("build", """
      name = "build"
      version = "1.0.0"
      description = "Builds from the workspace: no network, read-write workspace, 2 CPUs, 2 GiB, 512 processes, 1 GiB /tmp"

      [capabilities]
      network = "disabled"
      filesystem = ["read", "write", "execute"]

      [capabilities.resource_limits]
      cpus = 2
      memory_bytes = 2147483648
      max_processes = 512

      [sandbox]
      hostname = "build"

      [[sandbox.mounts]]
      type = "tmpfs"
      destination = "/tmp"
      options = ["size=1g", "mode=1777"]
      """),
    ("ci", """
      name = "ci"
      version = "1.0.0"
      description = "CI jobs: like build, with CI=true set and more processes"

      [capabilities]
      network = "disabled"
      filesystem = ["read", "write", "execute"]

      [capabilities.resource_limits]
      cpus = 2
      memory_bytes = 2147483648
      max_processes = 1024

      [sandbox]
      hostname = "ci"

      [sandbox.environment]
      CI = "true"
      """),
    ("network-allowed", """
      name = "network-allowed"
      version = "1.0.0"
      description = "Like default, with outbound network through NAT (no inbound, no private ranges)"

      [capabilities]
      network = "outbound"
      filesystem = ["read", "write", "execute"]

      [capabilities.resource_limits]
      cpus = 2
      memory_bytes = 536870912
      max_processes = 100
      """),
  ]
}
