package detect

// Cache is a bounded map that forgets in generations: when the current
// generation holds max entries it becomes the old one and the previous old
// one is dropped, so recently put entries survive at O(1) cost and memory
// stays bounded. Models use it to join records of one connection by uid.
// Not safe for concurrent use.
type Cache[K comparable, V any] struct {
	cur, old map[K]V
	max      int
}

// NewCache returns a cache that keeps between max and 2×max entries.
func NewCache[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{cur: make(map[K]V), max: max}
}

// Put sets k to v.
func (g *Cache[K, V]) Put(k K, v V) {
	if _, ok := g.cur[k]; !ok && len(g.cur) >= g.max {
		g.old, g.cur = g.cur, make(map[K]V, g.max/4)
	}
	g.cur[k] = v
}

// Get returns k's value, if it is still remembered.
func (g *Cache[K, V]) Get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.old[k]
	return v, ok
}

// Del forgets k.
func (g *Cache[K, V]) Del(k K) {
	delete(g.cur, k)
	delete(g.old, k)
}

// Len returns how many entries are held (both generations).
func (g *Cache[K, V]) Len() int { return len(g.cur) + len(g.old) }
