print("seqrec: under construction")
