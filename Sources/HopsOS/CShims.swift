import CHops

// Re-exported under Swift names so callers of HopsOS never import CHops.
func hopsPivotRoot(_ newRoot: String, _ putOld: String) -> Int32 { hops_pivot_root(newRoot, putOld) }
