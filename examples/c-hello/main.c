#include <stdio.h>

/* Prints a greeting and its arguments: `wasmrun exec examples/c-hello a b`. */
int main(int argc, char **argv) {
    printf("hello from C\n");
    for (int i = 1; i < argc; i++) {
        printf("arg %d: %s\n", i, argv[i]);
    }
    return 0;
}
