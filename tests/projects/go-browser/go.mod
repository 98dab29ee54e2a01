module example.com/gobrowser

go 1.21
