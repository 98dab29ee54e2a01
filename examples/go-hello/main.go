// Prints a greeting and its arguments: `wasmrun exec examples/go-hello a b`.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from Go")
	for i, arg := range os.Args[1:] {
		fmt.Printf("arg %d: %s\n", i+1, arg)
	}
}
