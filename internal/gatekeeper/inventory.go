package gatekeeper

// AddToInventory puts an object into data.inventory as Gatekeeper's sync
// (and gator's AddData) lays it out: cluster/<groupVersion>/<kind>/<name>
// for cluster-scoped objects, namespace/<ns>/<groupVersion>/<kind>/<name>
// for namespaced ones. inv is the map Options.Inventory returns.
func AddToInventory(inv map[string]any, apiVersion, kind, namespace, name string, obj map[string]any) {
	keys := []string{"cluster", apiVersion, kind, name}
	if namespace != "" {
		keys = []string{"namespace", namespace, apiVersion, kind, name}
	}
	node := inv
	for _, k := range keys[:len(keys)-1] {
		next, ok := node[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			node[k] = next
		}
		node = next
	}
	node[keys[len(keys)-1]] = obj
}
