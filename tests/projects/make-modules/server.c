#include <stdio.h>
int main(void) { puts("I am the server"); return 0; }
