# experiment's speed probe (`--speed-probe python`): one fixed piece of interpreter work, timed
# in this thread's CPU time again and again, so that a slower machine shows as longer times.
# Arguments: the table's size and the pause between timings in seconds. Prints one line per
# timing (nanoseconds) and runs until it is ended or its output is closed.
import sys
import time


def work(size):
    table = {}
    for key in range(size):
        table[key] = key * 2
    total = 0
    for key in table:
        total += table[key]
    return total


def main():
    size = int(sys.argv[1])
    pause = float(sys.argv[2])
    out = sys.stdout
    while True:
        start = time.thread_time_ns()
        work(size)
        took = time.thread_time_ns() - start
        try:
            out.write("%d\n" % took)
            out.flush()
        except (BrokenPipeError, OSError):
            return
        time.sleep(pause)


main()
