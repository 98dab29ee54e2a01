#include <stdio.h>
int main(void) { puts("I am the client"); return 0; }
