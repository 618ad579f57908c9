module tartape-zipcheck

go 1.21
