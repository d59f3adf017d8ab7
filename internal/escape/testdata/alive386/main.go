// Command alive386 prints "alive". TestProcI386 builds it for GOARCH=386
// to check that the sandbox kills 32-bit x86 programs at their first
// syscall.
package main

import "fmt"

func main() { fmt.Println("alive") }
