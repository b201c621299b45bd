import CHops
import Glibc

/// overlayfs's markers, for unpacked image layers used as lower layers.
public enum OverlayMarkers {
  /// Marks a directory opaque: lower layers' contents of it are hidden.
  public static func setOpaque(_ directoryFD: Int32) throws(SyscallError) {
    let result = hops_set_opaque(directoryFD)
    if result < 0 { throw SyscallError("fsetxattr", errno: -result, detail: "trusted.overlay.opaque") }
  }
}
