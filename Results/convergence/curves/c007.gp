# Residual against iterations, evaluations and time for residual d=64 h=128 B=8 σ=0.01.
# Render: gnuplot -e "fmt='svg'" c007.gp   (png by default)
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1800,560 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1800,560 enhanced font "sans,10" }
set output "c007.".fmt
set grid
set logscale y
set format y "10^{%L}"
set ylabel "relative residual ‖f(z)−z‖/‖f(z)‖"
set multiplot layout 1,3 title "convergence: residual d=64 h=128 B=8 σ=0.01"
unset key
set xlabel "iteration"
plot "c007.dat" index 0 using 1:5 with lines lw 2 lc 1 dt 1 title "forward", \
     "c007.dat" index 1 using 1:5 with lines lw 2 lc 2 dt 1 title "forward τ=0.5", \
     "c007.dat" index 2 using 1:5 with lines lw 2 lc 3 dt 1 title "anderson memory=1 beta=0.5", \
     "c007.dat" index 3 using 1:5 with lines lw 2 lc 4 dt 1 title "anderson memory=1 beta=1", \
     "c007.dat" index 4 using 1:5 with lines lw 2 lc 5 dt 1 title "anderson memory=1 beta=1.5", \
     "c007.dat" index 5 using 1:5 with lines lw 2 lc 6 dt 1 title "anderson memory=5 beta=0.5", \
     "c007.dat" index 6 using 1:5 with lines lw 2 lc 7 dt 1 title "anderson memory=5 beta=1", \
     "c007.dat" index 7 using 1:5 with lines lw 2 lc 8 dt 1 title "anderson memory=5 beta=1.5", \
     "c007.dat" index 8 using 1:5 with lines lw 2 lc 1 dt 2 title "anderson memory=10 beta=0.5", \
     "c007.dat" index 9 using 1:5 with lines lw 2 lc 2 dt 2 title "anderson memory=10 beta=1", \
     "c007.dat" index 10 using 1:5 with lines lw 2 lc 3 dt 2 title "anderson memory=10 beta=1.5", \
     "c007.dat" index 11 using 1:5 with lines lw 2 lc 4 dt 2 title "anderson memory=20 beta=0.5", \
     "c007.dat" index 12 using 1:5 with lines lw 2 lc 5 dt 2 title "anderson memory=20 beta=1", \
     "c007.dat" index 13 using 1:5 with lines lw 2 lc 6 dt 2 title "anderson memory=20 beta=1.5", \
     "c007.dat" index 14 using 1:5 with lines lw 2 lc 7 dt 2 title "broyden line-search=false", \
     "c007.dat" index 15 using 1:5 with lines lw 2 lc 8 dt 2 title "broyden line-search=true", \
     "c007.dat" index 16 using 1:5 with lines lw 2 lc 1 dt 3 title "newton-krylov jvp=analytic", \
     "c007.dat" index 17 using 1:5 with lines lw 2 lc 2 dt 3 title "newton-krylov jvp=fd", \
     1e-08 with lines dt 2 lc rgb "gray40" title "tol"
unset key
set xlabel "f evaluations (nfe)"
plot "c007.dat" index 0 using 2:5 with lines lw 2 lc 1 dt 1 title "forward", \
     "c007.dat" index 1 using 2:5 with lines lw 2 lc 2 dt 1 title "forward τ=0.5", \
     "c007.dat" index 2 using 2:5 with lines lw 2 lc 3 dt 1 title "anderson memory=1 beta=0.5", \
     "c007.dat" index 3 using 2:5 with lines lw 2 lc 4 dt 1 title "anderson memory=1 beta=1", \
     "c007.dat" index 4 using 2:5 with lines lw 2 lc 5 dt 1 title "anderson memory=1 beta=1.5", \
     "c007.dat" index 5 using 2:5 with lines lw 2 lc 6 dt 1 title "anderson memory=5 beta=0.5", \
     "c007.dat" index 6 using 2:5 with lines lw 2 lc 7 dt 1 title "anderson memory=5 beta=1", \
     "c007.dat" index 7 using 2:5 with lines lw 2 lc 8 dt 1 title "anderson memory=5 beta=1.5", \
     "c007.dat" index 8 using 2:5 with lines lw 2 lc 1 dt 2 title "anderson memory=10 beta=0.5", \
     "c007.dat" index 9 using 2:5 with lines lw 2 lc 2 dt 2 title "anderson memory=10 beta=1", \
     "c007.dat" index 10 using 2:5 with lines lw 2 lc 3 dt 2 title "anderson memory=10 beta=1.5", \
     "c007.dat" index 11 using 2:5 with lines lw 2 lc 4 dt 2 title "anderson memory=20 beta=0.5", \
     "c007.dat" index 12 using 2:5 with lines lw 2 lc 5 dt 2 title "anderson memory=20 beta=1", \
     "c007.dat" index 13 using 2:5 with lines lw 2 lc 6 dt 2 title "anderson memory=20 beta=1.5", \
     "c007.dat" index 14 using 2:5 with lines lw 2 lc 7 dt 2 title "broyden line-search=false", \
     "c007.dat" index 15 using 2:5 with lines lw 2 lc 8 dt 2 title "broyden line-search=true", \
     "c007.dat" index 16 using 2:5 with lines lw 2 lc 1 dt 3 title "newton-krylov jvp=analytic", \
     "c007.dat" index 17 using 2:5 with lines lw 2 lc 2 dt 3 title "newton-krylov jvp=fd", \
     1e-08 with lines dt 2 lc rgb "gray40" title "tol"
set key outside right top font ",8"
set xlabel "seconds"
plot "c007.dat" index 0 using 3:5 with lines lw 2 lc 1 dt 1 title "forward", \
     "c007.dat" index 1 using 3:5 with lines lw 2 lc 2 dt 1 title "forward τ=0.5", \
     "c007.dat" index 2 using 3:5 with lines lw 2 lc 3 dt 1 title "anderson memory=1 beta=0.5", \
     "c007.dat" index 3 using 3:5 with lines lw 2 lc 4 dt 1 title "anderson memory=1 beta=1", \
     "c007.dat" index 4 using 3:5 with lines lw 2 lc 5 dt 1 title "anderson memory=1 beta=1.5", \
     "c007.dat" index 5 using 3:5 with lines lw 2 lc 6 dt 1 title "anderson memory=5 beta=0.5", \
     "c007.dat" index 6 using 3:5 with lines lw 2 lc 7 dt 1 title "anderson memory=5 beta=1", \
     "c007.dat" index 7 using 3:5 with lines lw 2 lc 8 dt 1 title "anderson memory=5 beta=1.5", \
     "c007.dat" index 8 using 3:5 with lines lw 2 lc 1 dt 2 title "anderson memory=10 beta=0.5", \
     "c007.dat" index 9 using 3:5 with lines lw 2 lc 2 dt 2 title "anderson memory=10 beta=1", \
     "c007.dat" index 10 using 3:5 with lines lw 2 lc 3 dt 2 title "anderson memory=10 beta=1.5", \
     "c007.dat" index 11 using 3:5 with lines lw 2 lc 4 dt 2 title "anderson memory=20 beta=0.5", \
     "c007.dat" index 12 using 3:5 with lines lw 2 lc 5 dt 2 title "anderson memory=20 beta=1", \
     "c007.dat" index 13 using 3:5 with lines lw 2 lc 6 dt 2 title "anderson memory=20 beta=1.5", \
     "c007.dat" index 14 using 3:5 with lines lw 2 lc 7 dt 2 title "broyden line-search=false", \
     "c007.dat" index 15 using 3:5 with lines lw 2 lc 8 dt 2 title "broyden line-search=true", \
     "c007.dat" index 16 using 3:5 with lines lw 2 lc 1 dt 3 title "newton-krylov jvp=analytic", \
     "c007.dat" index 17 using 3:5 with lines lw 2 lc 2 dt 3 title "newton-krylov jvp=fd", \
     1e-08 with lines dt 2 lc rgb "gray40" title "tol"
unset multiplot
