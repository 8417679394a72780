package scenarios

import "reflect"

// State returns the scenario's own state of type T for this drill,
// creating a zero T on first use. The steps of one scenario share it, so a
// scenario keeps what it learns (an old member ID, a saved file) without
// adding fields to Drill.
func State[T any](d *Drill) *T {
	if d.state == nil {
		d.state = map[reflect.Type]any{}
	}
	key := reflect.TypeFor[T]()
	if s, ok := d.state[key]; ok {
		return s.(*T)
	}
	s := new(T)
	d.state[key] = s
	return s
}
