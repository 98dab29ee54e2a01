// A browser program: it writes into the page through syscall/js (in package dom).
package main

import (
	"fmt"

	"example.com/gobrowser/dom"
)

func main() {
	fmt.Println("hello from Go in the browser")
	dom.SetText("out", fmt.Sprintf("6 x 7 = %d", 6*7))
}
