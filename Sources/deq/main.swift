print("deq")
