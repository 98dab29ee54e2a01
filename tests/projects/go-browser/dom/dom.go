// Package dom is the module's one use of syscall/js.
package dom

import "syscall/js"

// SetText puts text into the element with the given id, creating it when missing.
func SetText(id, text string) {
	doc := js.Global().Get("document")
	el := doc.Call("getElementById", id)
	if el.IsNull() {
		el = doc.Call("createElement", "p")
		el.Set("id", id)
		doc.Get("body").Call("appendChild", el)
	}
	el.Set("textContent", text)
}
